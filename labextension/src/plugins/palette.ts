import { ICommandPalette } from '@jupyterlab/apputils';

import { PALETTE_CATEGORY } from '../tokens';

/** Commands in the palette's Batch Pipeline category (when there is a palette). */
export function addToPalette(
  palette: ICommandPalette | null,
  commands: readonly string[]
): void {
  for (const command of commands) {
    palette?.addItem({ command, category: PALETTE_CATEGORY });
  }
}
