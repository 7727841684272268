// PostGraphile 5 for bench/home.py, configured as production would run it: no GraphiQL, no
// explain, no watch mode; the bench_graphile views (bench/home_views.sql) over Rapport's tables.
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["bench_graphile"],
      // As many connections as the bench's HTTP connections, as for Rapport: none waits.
      poolConfig: { max: Number(process.env.POOL_SIZE ?? 16) },
    }),
  ],
  grafserv: { port: Number(process.env.PORT ?? 5678), host: "127.0.0.1", graphiql: false, watch: false },
  grafast: { explain: false },
};

export default preset;
