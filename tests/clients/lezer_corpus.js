// Every query of tests/loki_corpus.txt against Grafana's own LogQL grammar
// (@grafana/lezer-logql): "syntax" lines must be rejected, every other line
// (served, unsupported or invalid by value) must parse.
'use strict';
const fs = require('fs');
const { parser } = require('@grafana/lezer-logql');

const file = process.argv[2];
let checked = 0;
const wrong = [];
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
  if (!line.trim() || line.startsWith('#')) continue;
  const tab = line.indexOf('\t');
  const kind = line.slice(0, tab);
  const query = line.slice(tab + 1);
  let error = null;
  parser.parse(query).iterate({
    enter: (node) => {
      if (node.type.isError && error === null) error = node.from;
    },
  });
  const agrees = kind === 'syntax' ? error !== null : error === null;
  if (!agrees) wrong.push(`${kind}\t${query}\t(lezer error at ${error})`);
  checked += 1;
}
if (wrong.length) {
  console.error(`lezer-logql disagrees on ${wrong.length} of ${checked} queries:\n${wrong.join('\n')}`);
  process.exit(1);
}
console.log(`ok   lezer-logql agrees on all ${checked} corpus queries`);
