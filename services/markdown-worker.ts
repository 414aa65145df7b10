/**
 * The worker thread behind markdown.ts: parses each text it receives with
 * @rocket.chat/message-parser and answers the token tree, or null when the parser throws.
 * It runs apart from the server's thread because the parser takes time roughly quadratic
 * in the length of some inputs; markdown.ts gives each text a time budget and replaces
 * this worker when a text overruns it.
 */
import { parse } from "@rocket.chat/message-parser";
import { WORKER_READY } from "./markdown.ts";

declare const self: Worker;

/**
 * The parser options Rocket.Chat derives from its settings, at their defaults: hex colour
 * previews on (HexColorPreview_Enabled), emoticons on, KaTeX on (Katex_Enabled) with the
 * `\(...\)` syntax (Katex_Parenthesis_Syntax) and without `$...$` (Katex_Dollar_Syntax).
 */
const OPTIONS = {
  colors: true,
  emoticons: true,
  katex: { dollarSyntax: false, parenthesisSyntax: true },
};

self.onmessage = (event: MessageEvent) => {
  let md: unknown = null;
  try {
    md = parse(String(event.data), OPTIONS);
  } catch {
    // Rocket.Chat stores a message whose text the parser rejects without `md`; so do we.
  }
  self.postMessage(md);
};

self.postMessage(WORKER_READY);
