/** @type {import('next').NextConfig} */
module.exports = {
  devIndicators: false,
  // The server sets its own security headers (server/security-headers.ts); no product banner.
  poweredByHeader: false,
  // Dev mode: the hosts the Engram server accepts (server/dev-origins.ts hands them over before Next loads this).
  allowedDevOrigins: (process.env.ENGRAM_ALLOWED_DEV_ORIGINS ?? '').split(',').filter((origin) => origin !== ''),
  reactStrictMode: true,
  // The engine and server never reach the browser bundle; keep Next from tracing them.
  serverExternalPackages: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'better-sqlite3', 'hnswlib-node'],
};
