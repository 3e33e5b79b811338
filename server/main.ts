/**
 * Entry point behind `npm run dev` and `npm start`: one http.Server on 127.0.0.1:3000 carrying Next's
 * request handler (and, as the server lands, socket.io and the HTTP API).
 */
import http from 'node:http';
import next from 'next';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const dev = process.env.NODE_ENV !== 'production';

async function main(): Promise<void> {
  const app = next({ dev, dir: process.cwd() });
  await app.prepare();
  const handle = app.getRequestHandler();
  const server = http.createServer((req, res) => void handle(req, res));
  server.listen(port, host, () => console.log(`Engram ready: open http://${host}:${port}`));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
