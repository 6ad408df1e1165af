// Shared by the node checks: read /logs and /sources of a running loggate.
'use strict';

async function getJson(url) {
  const response = await fetch(url);
  if (response.status !== 200) {
    throw new Error(`${url}: ${response.status} ${await response.text()}`);
  }
  return response.json();
}

/** Every record /logs returns for `query`, following next_cursor. */
async function logs(base, query) {
  const out = [];
  let url = `${base}/logs?${query}&limit=1000`;
  for (;;) {
    const page = await getJson(url);
    out.push(...page.logs);
    if (!page.next_cursor) return out;
    url = `${base}/logs?cursor=${encodeURIComponent(page.next_cursor)}&limit=1000`;
  }
}

/** RFC 3339 with milliseconds of epoch ms. */
function iso(ms) {
  return new Date(ms).toISOString();
}

function assertEqual(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) {
    throw new Error(`${what}: got ${g.slice(0, 400)}, want ${w.slice(0, 400)}`);
  }
  console.log(`ok   ${what}`);
}

module.exports = { getJson, logs, iso, assertEqual };
