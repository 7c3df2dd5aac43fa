/** Types of node-modules-hooks.mjs (plain JavaScript: it runs on Node's hooks thread). */
import type { LoadHook } from "node:module";
export declare const load: LoadHook;
