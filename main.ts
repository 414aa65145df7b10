/**
 * Entry point: reads the configuration from the environment once, starts Parley, and
 * stops it cleanly on SIGINT/SIGTERM. A bad configuration value stops start-up with a
 * message naming the variable.
 */
import { ConfigError, loadConfig } from "./core/config.ts";
import { startServer } from "./server.ts";

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`Parley cannot start: ${error.message}`);
    process.exit(2);
  }
  throw error;
}

const parley = await startServer(config);
console.log(`Parley is listening on ${config.rootUrl} (port ${parley.port})`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    await parley.stop();
    process.exit(0);
  });
}
