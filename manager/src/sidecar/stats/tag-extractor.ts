/**
 * Envoy's tag extraction (source/common/stats/tag_extractor_impl.cc, tag_producer_impl.cc):
 * turns a full stat name into a tag-extracted name plus tags.
 *
 * - Every extractor looks at the ORIGINAL name; each match adds a tag and marks a character
 *   range for removal; the ranges are removed at the end (IntervalSet + removeCharacters).
 * - Regex extractors: the first capture group is the part removed, the second (or the first
 *   when there is only one) is the tag value. User `stats_tags` regexes are std::regex
 *   (ECMAScript); Envoy's defaults are RE2 and additionally need a non-empty first group and
 *   honour a negative match. A `substr` prefilter skips names that lack it.
 * - Token extractors (`cluster.$.**`) match dot-separated tokens; the captured token is removed
 *   with its following dot (or, if last, its preceding dot).
 * - `fixed_value` tags are added to every stat.
 * - Order (TagProducerImpl): extractors without a prefix token first, then those whose prefix
 *   token equals the stat's first token, each group in registration order; registration is
 *   defaults (when use_all_default_tags, default true) then `stats_tags` in order. A
 *   `stats_tags` entry with neither regex nor fixed_value selects the default(s) of that name.
 * - When several extractors share a tag name, only the first that matches applies.
 */
import type { StatsConfig } from "../config/model.ts";
import { UserError } from "../../errors.ts";
import { DEFAULT_TAG_DESCRIPTORS, type TagDescriptor } from "./default-tags.ts";

export interface Tag {
  name: string;
  value: string;
}

export interface ExtractedName {
  tagExtractedName: string;
  tags: Tag[];
}

interface Extractor {
  readonly name: string;
  /** First stat-name token this extractor can match, or "" for any. */
  readonly prefix: string;
  /** Pushes a tag and a [start, end) removal range on a match. */
  extract(name: string, tokens: () => string[], tags: Tag[], remove: Array<[number, number]>): boolean;
}

/** Envoy's extractRegexPrefix(): "^cluster\\." -> "cluster". */
function regexPrefix(regex: string): string {
  if (!regex.startsWith("^")) return "";
  for (let i = 1; i < regex.length; i++) {
    const c = regex[i]!;
    if (/[A-Za-z0-9_]/.test(c)) continue;
    if (i > 1) {
      const last = i === regex.length - 1;
      const rest = regex.slice(i);
      if ((!last && (rest.startsWith("\\.") || rest.startsWith("(?=\\."))) || (last && c === "$")) {
        return regex.slice(1, i);
      }
    }
    return "";
  }
  return "";
}

class RegexExtractor implements Extractor {
  readonly prefix: string;
  readonly #re: RegExp;
  constructor(
    readonly name: string,
    regex: string,
    private readonly substr: string,
    private readonly negativeMatch: string,
    /** RE2 flavour (Envoy's defaults): empty first group = no match. */
    private readonly re2: boolean,
  ) {
    this.prefix = regexPrefix(regex);
    try {
      this.#re = new RegExp(regex, "d");
    } catch (err) {
      throw new UserError(`Invalid regex '${regex}': ${(err as Error).message}`, { cause: err });
    }
  }

  extract(name: string, _t: () => string[], tags: Tag[], remove: Array<[number, number]>): boolean {
    if (this.substr !== "" && !name.includes(this.substr)) return false;
    const m = this.#re.exec(name);
    if (!m || m.length < 2) return false;
    const removeText = m[1] ?? "";
    if (this.re2 && removeText === "") return false;
    let value = m.length > 2 ? (m[2] ?? "") : removeText;
    if (this.re2 && value === "") value = removeText;
    if (this.negativeMatch !== "" && value === this.negativeMatch) return false;
    tags.push({ name: this.name, value });
    const span = m.indices?.[1];
    if (span) remove.push([span[0], span[1]]);
    return true;
  }
}

class TokensExtractor implements Extractor {
  readonly prefix: string;
  readonly #pattern: string[];
  readonly #matchIndex: number;
  constructor(
    readonly name: string,
    pattern: string,
  ) {
    this.#pattern = pattern.split(".");
    this.#matchIndex = this.#pattern.indexOf("$");
    const first = this.#pattern[0]!;
    this.prefix = first === "$" || first === "*" || first === "**" ? "" : first;
  }

  extract(_n: string, tokens: () => string[], tags: Tag[], remove: Array<[number, number]>): boolean {
    const input = tokens();
    const found = { start: 0, index: input.length };
    if (!this.#search(input, 0, 0, 0, found)) return false;
    let { start } = found;
    const value = input[found.index]!;
    let end = start + value.length;
    if (found.index < input.length - 1) end++;
    else if (start > 0) start--;
    tags.push({ name: this.name, value });
    remove.push([start, end]);
    return true;
  }

  /** TagExtractorTokensImpl::searchTags. */
  #search(input: string[], ii: number, pi: number, ci: number, found: { start: number; index: number }): boolean {
    const pat = this.#pattern;
    for (; ii < input.length && pi < pat.length; ii++, pi++) {
      if (pi === this.#matchIndex) {
        found.start = ci;
        found.index = ii;
        ci += input[ii]!.length + 1;
        continue;
      }
      const expected = pat[pi]!;
      if (expected === "**") {
        if (pi === pat.length - 1) return true;
        for (; ii < input.length; ii++) {
          if (this.#search(input, ii, pi + 1, ci, found)) return true;
          ci += input[ii]!.length + 1;
        }
        return false;
      }
      if (expected !== "*" && expected !== input[ii]) return false;
      ci += input[ii]!.length + 1;
    }
    return pi === pat.length && ii === input.length;
  }
}

class FixedExtractor implements Extractor {
  readonly prefix = "";
  constructor(
    readonly name: string,
    private readonly value: string,
  ) {}
  extract(_n: string, _t: () => string[], tags: Tag[]): boolean {
    tags.push({ name: this.name, value: this.value });
    return true;
  }
}

function fromDescriptor(d: TagDescriptor): Extractor {
  return d.kind === "re2"
    ? new RegexExtractor(d.name, d.regex, d.substr, d.negativeMatch, true)
    : new TokensExtractor(d.name, d.pattern);
}

/** Envoy's TagProducer: a configured, ordered set of extractors with a per-name cache. */
export class TagExtractors {
  readonly #withoutPrefix: Extractor[] = [];
  readonly #byPrefix = new Map<string, Extractor[]>();
  readonly #names = new Map<string, number>();
  readonly #cache = new Map<string, ExtractedName>();

  add(e: Extractor): void {
    this.#names.set(e.name, (this.#names.get(e.name) ?? 0) + 1);
    if (e.prefix === "") this.#withoutPrefix.push(e);
    else {
      const list = this.#byPrefix.get(e.prefix) ?? [];
      list.push(e);
      this.#byPrefix.set(e.prefix, list);
    }
    this.#cache.clear();
  }

  extract(name: string): ExtractedName {
    const cached = this.#cache.get(name);
    if (cached) return cached;
    const tags: Tag[] = [];
    const remove: Array<[number, number]> = [];
    let tokens: string[] | undefined;
    const getTokens = (): string[] => (tokens ??= name.split("."));
    const applied = new Set<string>();
    const run = (e: Extractor): void => {
      const shared = (this.#names.get(e.name) ?? 0) > 1;
      if (shared && applied.has(e.name)) return;
      if (e.extract(name, getTokens, tags, remove) && shared) applied.add(e.name);
    };
    for (const e of this.#withoutPrefix) run(e);
    const dot = name.indexOf(".");
    if (dot >= 0) for (const e of this.#byPrefix.get(name.slice(0, dot)) ?? []) run(e);
    const result = { tagExtractedName: removeRanges(name, remove), tags };
    this.#cache.set(name, result);
    return result;
  }
}

function removeRanges(name: string, ranges: Array<[number, number]>): string {
  if (ranges.length === 0) return name;
  const drop = new Uint8Array(name.length);
  for (const [s, e] of ranges) drop.fill(1, s, e);
  let out = "";
  for (let i = 0; i < name.length; i++) if (!drop[i]) out += name[i];
  return out;
}

/** Builds Envoy's TagProducer from `stats_config`. Throws UserError on a tag spec Envoy rejects. */
export function buildTagExtractors(config: StatsConfig): TagExtractors {
  const set = new TagExtractors();
  if (config.useAllDefaultTags) for (const d of DEFAULT_TAG_DESCRIPTORS) set.add(fromDescriptor(d));
  for (const spec of config.statsTags) {
    if (spec.tagName === "") throw new UserError("tag_name cannot be empty");
    if (spec.fixedValue !== undefined) {
      set.add(new FixedExtractor(spec.tagName, spec.fixedValue));
    } else if (spec.regex !== undefined && spec.regex !== "") {
      set.add(new RegexExtractor(spec.tagName, spec.regex, "", "", false));
    } else {
      const defaults = DEFAULT_TAG_DESCRIPTORS.filter((d) => d.name === spec.tagName);
      if (defaults.length === 0) {
        throw new UserError(
          `No regex specified for tag specifier and no default regex for name: '${spec.tagName}'`,
        );
      }
      for (const d of defaults) set.add(fromDescriptor(d));
    }
  }
  return set;
}

/** The default set (use_all_default_tags true, no stats_tags). */
export function defaultTagExtractors(): TagExtractors {
  return buildTagExtractors({ useAllDefaultTags: true, statsTags: [] });
}

/** Tag-extracted name and tags of `name`, as Envoy's TagProducer::produceTags computes them. */
export function extractTags(name: string, extractors: TagExtractors): ExtractedName {
  return extractors.extract(name);
}
