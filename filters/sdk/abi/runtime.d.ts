/**
 * Type declarations, for editors and `tsc -p filters/tsconfig.json` only, of the AssemblyScript
 * runtime functions the SDK calls that std/assembly's types leave out (the compiler provides them;
 * `__new` and `__collect` come from assemblyscript/std/assembly/rt/index.d.ts).
 */
/** Keeps a managed object alive across collections until `__unpin`; returns `ptr`. */
declare function __pin(ptr: usize): usize;
/** Ends a `__pin`. */
declare function __unpin(ptr: usize): void;
