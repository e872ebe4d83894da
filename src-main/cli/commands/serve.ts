/**
 * `doppel serve`: browser mode. Serves the renderer and the contract on 127.0.0.1 with a per-run
 * token, until interrupted.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { AppError } from '../../contract/errors';
import { defaultDbPath } from '../../engine/app-paths';
import { startHttpServer } from '../../server/http-server';
import { startWorkerEngine } from '../../server/engine-client';
import { parsePositiveInt } from '../context';

interface ServeOptions {
  db?: string;
  port?: number;
  model?: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the review UI in a browser (bound to 127.0.0.1, with a per-run token)')
    .option('--db <file>', 'database file (default: the per-user app data folder)')
    .option('--port <n>', 'port to listen on (default: any free port)', parsePositiveInt('--port'))
    .addOption(new Option('--model <dir>', 'folder holding the model card').hideHelp())
    .action(async (opts: ServeOptions) => {
      const dbFile = path.resolve(opts.db ?? defaultDbPath());
      const engine = startWorkerEngine({
        dbFile,
        modelDir: opts.model && path.resolve(opts.model),
      });
      await engine.ready;
      if (engine.startError) {
        await engine.close();
        throw new Error(engine.startError.message);
      }
      let server: Awaited<ReturnType<typeof startHttpServer>>;
      try {
        server = await startHttpServer({ engine, port: opts.port });
      } catch (err) {
        // The engine thread would keep the process alive: end it before reporting.
        await engine.close();
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new AppError('PORT_IN_USE', { port: opts.port ?? 0, detail: code });
      }
      process.stdout.write(`Doppel is running at ${server.url}\n`);
      process.stderr.write(
        'Open that address in a browser on this machine. Press Ctrl+C to stop.\n',
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });
}
