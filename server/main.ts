/**
 * Entry point behind `npm run dev` and `npm start` (server/serve.ts): one http.Server on 127.0.0.1:3000 (by default)
 * carrying Next's request handler, socket.io and the HTTP API. See `cli-options.ts` for flags and environment
 * variables.
 */
import { serveFromCommandLine } from './serve';

serveFromCommandLine();
