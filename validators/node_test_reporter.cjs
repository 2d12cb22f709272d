// taskforge's reporter for `node --test`: one JSON line per test as it starts and ends, in the
// order the tests are defined, appended at once (a run that exits with handles open, by
// --test-force-exit, loses none). validators/js_reports.py reads it (read_node_test).
const { appendFileSync } = require('node:fs');

module.exports = async function* report(source) {
  for await (const { type, data } of source) {
    if (type !== 'test:start' && type !== 'test:pass' && type !== 'test:fail') continue;
    const line = { type, name: data.name, nesting: data.nesting, file: data.file };
    if (type !== 'test:start') {
      line.skip = Boolean(data.skip);
      line.todo = Boolean(data.todo);
      line.kind = (data.details && data.details.type) || 'test';
      const error = data.details && data.details.error;
      if (error) line.failure = String(error.failureType || 'error');
    }
    appendFileSync(process.env.TASKFORGE_NODE_REPORT, JSON.stringify(line) + '\n');
  }
};
