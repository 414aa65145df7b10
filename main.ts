/**
 * Entry point: reads the configuration from the environment once, starts Parley, and
 * stops it cleanly on SIGINT/SIGTERM. A configuration value Parley cannot use, at
 * reading time or when starting (a store that does not open, a port that is taken, a
 * first administrator that cannot be created), stops start-up with exit code 2 and a
 * message naming the variable; any other failure while starting stops it with exit code 1,
 * the same first line and the error's stack.
 */
import { ConfigError, loadConfig } from "./core/config.ts";
import { startServer } from "./server.ts";

try {
  const config = loadConfig(process.env);
  const parley = await startServer(config);
  console.log(
    `Parley is listening on ${config.host} port ${parley.port} (ROOT_URL ${config.rootUrl})`,
  );

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, async () => {
      await parley.stop();
      process.exit(0);
    });
  }
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`Parley cannot start: ${error.message}`);
    process.exit(2);
  }
  // Anything else is a fault of Parley or of what it runs on: the stack helps find it.
  const message = error instanceof Error ? error.message : String(error);
  console.error(`Parley cannot start: ${message}`);
  if (error instanceof Error && error.stack) console.error(error.stack);
  process.exit(1);
}
