// Prints jest's totals as one plain closing line, `N passed, N failed, N skipped`, that CI reads.
// On exit, so that it comes after jest's own summary and the coverage table.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = results
    const line = `${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped\n`
    process.once('exit', () => process.stderr.write(line))
  }
}
module.exports = SummaryReporter
