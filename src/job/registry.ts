import { DuplicateJobError, InvalidOptionError, UnknownJobError } from '../errors.js';
import type { AnyJobDefinition } from './define-job.js';

/** The definitions a dispatcher knows, by name. */
export class Registry {
  private readonly byName = new Map<string, AnyJobDefinition>();
  /** The registered names, made again only after a register: a lease asks for them every time. */
  private nameList: readonly string[] | null = null;

  register(definition: AnyJobDefinition): void {
    if (!definition || typeof definition !== 'object' || typeof definition.name !== 'string' || !definition.input) {
      throw new InvalidOptionError('register', 'expects a definition made by defineJob');
    }
    if (this.byName.has(definition.name)) throw new DuplicateJobError(definition.name);
    this.byName.set(definition.name, definition);
    this.nameList = null;
  }

  /** The names of every registered definition: the jobs this worker can run, so the only ones it leases. */
  names(): readonly string[] {
    return (this.nameList ??= Object.freeze([...this.byName.keys()]));
  }

  /** The registered definition for a name or a definition; unknown ones are refused. */
  resolve(job: AnyJobDefinition | string): AnyJobDefinition {
    const name = typeof job === 'string' ? job : job?.name;
    const found = typeof name === 'string' ? this.byName.get(name) : undefined;
    if (!found) throw new UnknownJobError(String(name));
    if (typeof job !== 'string' && job !== found) {
      throw new InvalidOptionError('job', `"${name}" is registered with another definition; enqueue with the registered one`);
    }
    return found;
  }

  find(name: string): AnyJobDefinition | undefined {
    return this.byName.get(name);
  }

  /** Whether a job that runs out of attempts goes to the DLQ; a job whose definition is gone does. */
  deadLetter(name: string): boolean {
    return this.byName.get(name)?.deadLetter ?? true;
  }
}
