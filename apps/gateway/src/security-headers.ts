/**
 * Security headers on every answer (helmet is not a dependency; these five lines are all we need
 * of it). The Content-Security-Policy fits the console (apps/gateway/console): its script, style
 * sheet and icon come from the gateway itself, it calls only the gateway's API, draws charts on a
 * canvas and sets colours through the CSSOM (no inline script or style attribute), and it is never
 * framed. The JSON API is covered by the same policy (a browser rendering an answer runs nothing).
 */
import type { NextFunction, Request, Response } from 'express';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  next();
}
