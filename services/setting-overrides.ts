/**
 * Setting values given in the environment, as Rocket.Chat reads them:
 * `OVERWRITE_SETTING_<id>` sets setting `<id>` at every start, and a plain `<id>` variable
 * is the initial value of a setting the store does not hold yet. Both arrive as text and
 * are typed by the setting's type here; a value the setting cannot take stops start-up.
 */
import { ConfigError } from "../core/config.ts";
import type { SettingDefinition } from "./settings-registry.ts";

/** Where a value from the environment came from, named as the variable that holds it. */
export type OverrideSource = "overwrite" | "initial";

/** The environment variable that gives setting `id` its value from `source`. */
export function overrideVariable(id: string, source: OverrideSource): string {
  return source === "overwrite" ? `OVERWRITE_SETTING_${id}` : id;
}

/**
 * The value `raw` stands for in a setting defined as `def`: `true` or `false` (in any
 * case) for a boolean, a whole number for an int, one of the choices' keys for a select,
 * the text itself otherwise. Throws ConfigError naming `variable` for anything else.
 */
export function typedValue(
  variable: string,
  raw: string,
  def: SettingDefinition,
): string | number | boolean {
  if (def.type === "boolean") {
    const lower = raw.toLowerCase();
    if (lower === "true" || lower === "false") return lower === "true";
    throw new ConfigError(variable, `expected "true" or "false", got "${raw}"`);
  }
  if (def.type === "int") {
    if (/^-?\d+$/.test(raw.trim()) && Number.isSafeInteger(Number(raw))) return Number(raw);
    throw new ConfigError(variable, `expected a whole number, got "${raw}"`);
  }
  if (def.type === "select" && def.values && !def.values.some((c) => c.key === raw)) {
    const keys = def.values.map((c) => `"${c.key}"`).join(", ");
    throw new ConfigError(variable, `expected one of ${keys}, got "${raw}"`);
  }
  return raw;
}
