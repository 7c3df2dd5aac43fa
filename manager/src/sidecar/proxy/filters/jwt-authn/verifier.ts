/**
 * JwtRequirement trees as Envoy's jwt_authn verifiers evaluate them (verifier.cc), with every
 * key local so each node completes at once:
 * - provider_name / provider_and_audiences: that provider's token locations and issuer, the
 *   audiences optionally overridden; every token found must verify;
 * - requires_all: children in order, the first failure decides;
 * - requires_any: children in order until one passes; otherwise the failures are combined
 *   (a failure other than JwtMissed / JwtUnknownIssuer wins, JwtUnknownIssuer beats
 *   JwtMissed), and `allow_missing` / `allow_missing_or_failed` among the children are not
 *   children but turn JwtMissed / any failure into OK;
 * - allow_missing (alone): any provider's locations, a missing token passes, an invalid one
 *   fails; allow_missing_or_failed (alone): always passes (good tokens still count);
 * - an empty requirement passes.
 * Each provider and allow node first removes the forward_payload_header / claim_to_headers
 * headers of its providers, as Envoy's extractor sanitizes them.
 */
import type { JwtRequirementConfig } from "../../../config/model.ts";
import { authenticate, AudienceChecker, type ProviderRuntime, type VerifyContext } from "./authenticator.ts";
import { Extractor } from "./extractor.ts";
import { Status } from "./status.ts";

export interface Verifier {
  verify(ctx: VerifyContext): Status;
}

class ProviderVerifier implements Verifier {
  private readonly extractor: Extractor;
  constructor(
    private readonly provider: ProviderRuntime,
    private readonly all: readonly ProviderRuntime[],
    private readonly audiences?: AudienceChecker,
  ) {
    this.extractor = new Extractor([provider.config]);
  }
  verify(ctx: VerifyContext): Status {
    this.extractor.sanitizeHeaders(ctx.headers);
    const tokens = this.extractor.extract(ctx.headers);
    return authenticate(tokens, { provider: this.provider, audiences: this.audiences, allowFailed: false, allowMissing: false, providers: this.all }, ctx);
  }
}

class AllowVerifier implements Verifier {
  private readonly extractor: Extractor;
  constructor(
    private readonly all: readonly ProviderRuntime[],
    private readonly allowFailed: boolean,
  ) {
    this.extractor = new Extractor(all.map((p) => p.config));
  }
  verify(ctx: VerifyContext): Status {
    this.extractor.sanitizeHeaders(ctx.headers);
    const tokens = this.extractor.extract(ctx.headers);
    return authenticate(tokens, { allowFailed: this.allowFailed, allowMissing: true, providers: this.all }, ctx);
  }
}

class AllVerifier implements Verifier {
  constructor(private readonly children: Verifier[]) {}
  verify(ctx: VerifyContext): Status {
    for (const c of this.children) {
      const s = c.verify(ctx);
      if (s !== Status.Ok) return s;
    }
    return Status.Ok;
  }
}

class AnyVerifier implements Verifier {
  constructor(
    private readonly children: Verifier[],
    private readonly allowMissing: boolean,
    private readonly allowMissingOrFailed: boolean,
  ) {}
  verify(ctx: VerifyContext): Status {
    let final = Status.JwtMissed;
    for (const c of this.children) {
      const s = c.verify(ctx);
      if (s === Status.Ok) return Status.Ok;
      if ((s !== Status.JwtMissed && s !== Status.JwtUnknownIssuer) || final === Status.JwtMissed) final = s;
    }
    if (this.allowMissingOrFailed) return Status.Ok;
    if (this.allowMissing && final === Status.JwtMissed) return Status.Ok;
    return final;
  }
}

const PASS: Verifier = { verify: () => Status.Ok };

export function createVerifier(req: JwtRequirementConfig, providers: ReadonlyMap<string, ProviderRuntime>): Verifier {
  const all = [...providers.values()];
  switch (req.kind) {
    case "provider": {
      const p = providers.get(req.providerName);
      if (!p) throw new Error(`Required provider ['${req.providerName}'] is not configured.`);
      return new ProviderVerifier(p, all, req.audiences && req.audiences.length > 0 ? new AudienceChecker(req.audiences) : undefined);
    }
    case "requires_all":
      return new AllVerifier(req.requirements.map((r) => createVerifier(r, providers)));
    case "requires_any": {
      const allowMissing = req.requirements.some((r) => r.kind === "allow_missing");
      const allowMissingOrFailed = req.requirements.some((r) => r.kind === "allow_missing_or_failed");
      const children = req.requirements
        .filter((r) => r.kind !== "allow_missing" && r.kind !== "allow_missing_or_failed")
        .map((r) => createVerifier(r, providers));
      // A requires_any of only allow_* requirements verifies as that allow requirement.
      if (children.length === 0) children.push(new AllowVerifier(all, allowMissingOrFailed));
      return new AnyVerifier(children, allowMissing, allowMissingOrFailed);
    }
    case "allow_missing":
      return new AllowVerifier(all, false);
    case "allow_missing_or_failed":
      return new AllowVerifier(all, true);
    case "none":
      return PASS;
  }
}
