#!/usr/bin/env node
// Entry point of the `meshwasm` command: runs the TypeScript CLI in this process through tsx's
// loader API (the `tsx` command would run it in a second node process, which a SIGKILL of this
// one would leave behind). Signals sent to this process reach the CLI directly.
import { register } from "tsx/esm/api";
register();
await import("../src/cli/index.ts");
