/**
 * Headers every response carries: a Content-Security-Policy that lets pages load only this server's own scripts,
 * styles and connections (Next's inline bootstrap scripts need 'unsafe-inline'; its dev mode also 'unsafe-eval'), no
 * MIME sniffing, no framing by other sites, and no Referer (a page URL may carry `?token=`).
 */
import type { ServerResponse } from 'node:http';

export function contentSecurityPolicy(dev: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function setSecurityHeaders(res: ServerResponse, csp: string): void {
  res.setHeader('content-security-policy', csp);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
}
