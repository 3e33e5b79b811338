/** @type {import('next').NextConfig} */
module.exports = {
  devIndicators: false,
  reactStrictMode: true,
  // The engine and server never reach the browser bundle; keep Next from tracing them.
  serverExternalPackages: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'better-sqlite3', 'hnswlib-node'],
};
