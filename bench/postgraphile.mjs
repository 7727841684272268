// Serve PostGraphile 5 on PORT for bench/home.py, with Node's own HTTP server.
// Run with the Node >= 22 that package.json pins: node_modules/.bin/node postgraphile.mjs
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import preset from "./graphile.config.mjs";

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.once("listening", () => console.log(`listening on ${preset.grafserv.host}:${preset.grafserv.port}`));
serv.addTo(server).catch((e) => {
  console.error(e);
  process.exit(1);
});
server.listen(preset.grafserv.port, preset.grafserv.host);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    pgl.release().then(() => process.exit(0));
  });
}
