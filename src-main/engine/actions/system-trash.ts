/** The operating system's trash on macOS and Windows, through the `trash` library. */

/**
 * Sends one file to the macOS Trash or the Windows Recycle Bin. Throws the library's error.
 *
 * Limitation: the OS does not tell where the file went, so the journal records it as sent to the
 * system trash without a location, and `doppel undo` cannot bring it back by itself: it reports
 * the file and the user restores it with Put Back (Finder) or Restore (Recycle Bin). Linux uses
 * Doppel's own freedesktop.org trash (freedesktop-trash.ts), which undo fully reverses.
 */
export async function moveToSystemTrash(file: string): Promise<void> {
  // `trash` is an ES module; a dynamic import loads it from this CommonJS build on any Node 20.
  const { default: trash } = await import('trash');
  await trash(file, { glob: false });
}
