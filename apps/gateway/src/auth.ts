/**
 * Access control for the HTTP API and the console (issue 4; docs/adr/0006-access-control.md).
 *
 * A credential is a name, a role and — for a hospital — its fixmedins_code, with the SHA-256 of a
 * bearer token. Only the hash is configured (GATEWAY_CREDENTIALS_FILE), so the file is not a secret
 * store; the token itself is given once to its holder (`npm run credential`).
 *
 * Roles: operator (everything: submit, resubmit, read, console), auditor (read only: bills,
 * messages, rejects, flow, metrics), hospital (submit and read its own bills only).
 * Every route declares its roles with @Allow(...) or is @Public(); a route with neither is denied,
 * so a new route is closed until someone opens it.
 */
import {
  type CanActivate,
  type ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { Authenticator, type Principal, type Role } from './credentials';

export {
  Authenticator,
  type Credential,
  CredentialsError,
  hashToken,
  newToken,
  parseCredentials,
  type Principal,
  type Role,
  ROLES,
} from './credentials';

const ALLOW = 'onebill:allow';
const PUBLIC = 'onebill:public';

/** The roles that may call a route (a hospital is then held to its own rows by the handler). */
export const Allow = (...roles: Role[]): MethodDecorator & ClassDecorator =>
  SetMetadata(ALLOW, roles);
/** A route that carries no data: health, the API contract, the console's static assets. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC, true);

export type AuthedRequest = Request & { principal?: Principal };

export function principalOf(req: Request): Principal {
  const p = (req as AuthedRequest).principal;
  if (p === undefined) throw new Error('no principal on an authenticated route');
  return p;
}

/** The hospital a principal is held to, or undefined for operator and auditor. */
export function scopeOf(p: Principal): string | undefined {
  return p.role === 'hospital' ? (p.fixmedinsCode ?? '') : undefined;
}

/** `{ hospitalScope }` for a hospital credential's request, `{}` otherwise (spread into a Source). */
export function hospitalScopeOf(req: Request): { hospitalScope?: string } {
  const scope = scopeOf(principalOf(req));
  return scope === undefined ? {} : { hospitalScope: scope };
}

/** Ends the request with 401/403 and a problem body; nothing of the route runs. */
function deny(
  res: Response,
  status: 401 | 403,
  code: string,
  rule: string,
  message: string,
): never {
  if (status === 401) res.setHeader('www-authenticate', 'Bearer realm="onebill"');
  throw new HttpException(
    {
      status: status === 401 ? 'unauthorized' : 'forbidden',
      errors: [{ code, field: 'authorization', rule, message }],
    },
    status,
  );
}

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(Authenticator) private readonly auth: Authenticator,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets) === true) return true;
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const allowed = this.reflector.getAllAndOverride<Role[] | undefined>(ALLOW, targets) ?? [];
    const principal = this.auth.authenticate(req.headers.authorization);
    if (principal === null) {
      deny(
        res,
        401,
        'UNAUTHENTICATED',
        'Authorization: Bearer <token> of a configured credential',
        req.headers.authorization === undefined
          ? 'no credentials were sent'
          : 'the token is not one of a configured credential',
      );
    }
    if (!allowed.includes(principal.role)) {
      deny(
        res,
        403,
        'FORBIDDEN',
        allowed.length === 0
          ? 'this route is open to no role'
          : `this route is for ${allowed.join(', ')}`,
        `${principal.name} (${principal.role}) may not ${req.method} ${req.path}`,
      );
    }
    req.principal = principal;
    return true;
  }
}
