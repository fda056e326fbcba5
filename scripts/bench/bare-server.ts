/** The floor for the health benchmark: a bare node:http server answering the same body and headers. */
import { createServer } from 'node:http';

const server = createServer((_req, res) => {
  const body = JSON.stringify({ status: 'ok', version: '0.1.0', uptime: Math.round(process.uptime()), timestamp: new Date().toISOString() });
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`bare server ready`));
process.on('SIGINT', () => server.close(() => process.exit(0)));
