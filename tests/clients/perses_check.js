// @perses-dev/loki-plugin's Loki client (lib/cjs/model/loki-client.js, global
// fetch) against `loggate demo`: query_range, labels, label values and
// series equal what /logs and /sources say for the same selection, and a
// count_over_time matrix equals /logs/stats.
'use strict';
const path = require('path');
const { logs, getJson, iso, assertEqual } = require('./common.js');

const base = process.argv[2];
const modules = process.argv[3];
const client = require(path.join(modules, '@perses-dev/loki-plugin/lib/cjs/model/loki-client.js'));

async function main() {
  const options = { datasourceUrl: base, headers: { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' } };
  // The client sends whole seconds: the window is [startS, endS) in seconds.
  const endS = Math.floor(Date.now() / 1000) + 60;
  const startS = endS - 8 * 86400;
  const window = `start=${iso(startS * 1000)}&end=${iso(endS * 1000 - 1)}`;

  const sources = (await getJson(`${base}/sources`)).sources;
  const labels = await client.labels(String(startS * 1e9), String(endS * 1e9), options);
  assertEqual(labels.data, ['detected_level', 'level', 'provider', 'service_name', 'source'], 'perses labels');
  const names = await client.labelValues('source', String(startS * 1e9), String(endS * 1e9), options);
  assertEqual(names.data, sources.map((s) => s.name).sort(), 'perses label values: source = /sources');
  const kinds = await client.labelValues('provider', String(startS * 1e9), String(endS * 1e9), options);
  assertEqual(kinds.data, [...new Set(sources.map((s) => s.kind))].sort(), 'perses label values: provider = /sources kinds');

  for (const source of ['app', 'workflows']) {
    const records = await logs(base, `source=${source}&${window}`);
    const answer = await client.queryRange(
      { query: `{source="${source}"}`, start: String(startS), end: String(endS), limit: 5000, direction: 'backward' },
      options,
    );
    if (answer.status !== 'success') throw new Error(JSON.stringify(answer));
    const ids = answer.data.result.flatMap((s) => s.values.map((v) => v[2].structuredMetadata.id)).sort();
    assertEqual(ids, records.map((r) => r.id).sort(), `perses query_range {source="${source}"} ids = /logs`);
    const levels = await client.labelValues('level', String(startS * 1e9), String(endS * 1e9), options);
    const series = await client.series([`{source="${source}"}`], String(startS * 1e9), String(endS * 1e9), options);
    const key = (s) => JSON.stringify([s.source, s.provider, s.level, s.service_name]);
    const expected = [...new Set(records.map((r) => key({
      source: r.source, provider: r.provider, level: r.level.toLowerCase(), service_name: r.service ?? r.source,
    })))].sort();
    assertEqual(series.data.map(key).sort(), expected, `perses series {source="${source}"} = /logs label sets`);
    if (!records.every((r) => levels.data.includes(r.level.toLowerCase()))) {
      throw new Error(`level values ${levels.data} miss a level of ${source}`);
    }
  }
  const all = await logs(base, window);
  const levels = await client.labelValues('level', String(startS * 1e9), String(endS * 1e9), options);
  assertEqual(levels.data, [...new Set(all.map((r) => r.level.toLowerCase()))].sort(), 'perses label values: level = /logs levels');
  await countsEqualStats();
}

// Counts (issue 15): the client's count_over_time matrix over the last day
// equals /logs/stats bucket for bucket. The point at t counts (t - 5m, t];
// the /logs/stats bucket starting at t - 5m counts [t - 5m, t) in
// milliseconds (entries carry a sub-millisecond tie-break, spec §6).
async function countsEqualStats() {
  const options = { datasourceUrl: base };
  const step = 300;
  const end = Math.floor(Date.now() / 1000 / step) * step;
  const start = end - 86400;
  const matrix = await client.queryRange(
    { query: 'sum by (source) (count_over_time({source=~".+"}[5m]))', start: String(start), end: String(end), step: '5m' },
    options,
  );
  if (matrix.status !== 'success' || matrix.data.resultType !== 'matrix') {
    throw new Error(`count_over_time: ${JSON.stringify(matrix).slice(0, 400)}`);
  }
  const fromLoki = [];
  for (const s of matrix.data.result) {
    for (const [t, v] of s.values) fromLoki.push(`${s.metric.source}@${Number(t)}=${Number(v)}`);
  }
  const stats = await getJson(`${base}/logs/stats?start=${iso((start - step) * 1000)}&end=${iso(end * 1000)}&interval=5m&by=source`);
  if (stats.complete !== true) throw new Error(`/logs/stats not complete: ${JSON.stringify(stats.sources)}`);
  const fromStats = [];
  for (const s of stats.series) {
    for (const [bucket, n] of s.points) {
      if (n > 0) fromStats.push(`${s.group.source}@${Date.parse(bucket) / 1000 + step}=${n}`);
    }
  }
  if (fromStats.length === 0) throw new Error('/logs/stats counted nothing in the last day of the demo');
  assertEqual(fromLoki.sort(), fromStats.sort(), `perses count_over_time matrix = /logs/stats (${fromStats.length} points)`);
}

main().catch((e) => {
  console.error(`FAIL ${e.stack || e}`);
  process.exit(1);
});
