/** Child process of the store-level cases: answers one job (see store-cases.ts). */
import { serveJob } from './child'
import {
  runCases,
  runPair,
  runPopulate,
  runRead,
  runRounds,
  runSumViews,
  type StoreJob,
} from './store-cases'

serveJob<StoreJob, unknown>(async (job) => {
  switch (job.type) {
    case 'cases':
      return runCases(job)
    case 'read':
      return runRead(job)
    case 'populate':
      return runPopulate(job)
    case 'sum-views':
      return runSumViews(job)
    case 'pair':
      return runPair(job)
    case 'rounds':
      return runRounds(job)
  }
})
