export type { CliIo } from './cli-io.js';
export { EXIT_CODES, exitCodeFor } from './exit-codes.js';
export { CLI_USAGE, runCli } from './run-cli.js';
