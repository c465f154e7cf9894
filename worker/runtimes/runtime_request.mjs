// What every runtime script shares with the worker: the request file named on the command line,
// and a refusal as one JSON object ({"error": ...}, exit 3) the worker turns into a permanent
// ENGINE_ERROR.
import { readFileSync } from "node:fs";

export function fail(message) {
  process.stdout.write(JSON.stringify({ error: message }) + "\n");
  process.exit(3);
}

export function readRequest() {
  try {
    return JSON.parse(readFileSync(process.argv[2], "utf8"));
  } catch (e) {
    fail(`request: ${e.message}`);
  }
}
