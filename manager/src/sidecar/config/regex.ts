/**
 * Checks a pattern the way Envoy's RE2-based safe_regex would accept it, compiling it with
 * JavaScript's RegExp. RE2 named groups `(?P<name>...)` are rewritten to `(?<name>...)`;
 * lookaround and backreferences, which RE2 rejects, are rejected here too. Other syntax
 * differences between RE2 (or std::regex for stats_tags) and JavaScript are not detected.
 */
import type { At, Ctx } from "./fields.ts";

/** Returns the JavaScript-compatible pattern, or undefined after reporting an error. */
export function checkRegex(ctx: Ctx, at: At, pattern: string, flavour: "re2" | "ecmascript"): string | undefined {
  let js = pattern;
  if (flavour === "re2") {
    if (/\(\?<?[=!]/.test(pattern)) {
      ctx.error(at.path, at.node, "invalid regex: RE2 does not support lookahead or lookbehind");
      return undefined;
    }
    if (/(^|[^\\])(\\\\)*\\[1-9]/.test(pattern)) {
      ctx.error(at.path, at.node, "invalid regex: RE2 does not support backreferences");
      return undefined;
    }
    js = pattern.replace(/\(\?P</g, "(?<");
  }
  try {
    new RegExp(js, "u");
  } catch (e) {
    try {
      new RegExp(js);
    } catch {
      ctx.error(at.path, at.node, `invalid regex: ${(e as Error).message}`);
      return undefined;
    }
  }
  return js;
}
