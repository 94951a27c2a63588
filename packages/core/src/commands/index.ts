/** The commands of the command line, in the order `--help` lists them. */
import type { Command } from './command'
import { decrypt, encrypt } from './encrypt'
import { exportCommand } from './export'
import { get } from './get'
import { importCommand } from './import'
import { ls } from './ls'
import { migrate } from './migrate'
import { prune } from './prune'
import { rm } from './rm'
import { stats } from './stats'

export const commands: Record<string, Command> = {
  stats,
  ls,
  get,
  rm,
  prune,
  migrate,
  export: exportCommand,
  import: importCommand,
  encrypt,
  decrypt,
}
