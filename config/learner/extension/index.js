// Backprop Lab, learner mode: after Run All stops at an error, show that cell.
//
// JupyterLab's Run All makes the last cell active and scrolls to it, so the first
// failing exercise's message is far above the view. When a cell run by Run All (or
// Run All Above/Below) fails, this makes that cell the active one and scrolls to it.
// Loaded only by `make lab` (config/learner); rebuild with `make learner-extension`.
const { NotebookActions } = require('@jupyterlab/notebook');

const plugin = {
  id: 'backprop-lab-learner:show-first-error',
  description: 'After Run All stops at an error, scroll to the cell that failed.',
  autoStart: true,
  activate: () => {
    NotebookActions.executed.connect((_, { notebook, cell, success, error }) => {
      // Only the cell that raised: the cells Run All then skips are reported failed too,
      // without the kernel's error (errorName).
      if (success || !error || !error.errorName || notebook.isDisposed) {
        return;
      }
      const index = notebook.widgets.indexOf(cell);
      if (index < 0) {
        return;
      }
      // After Run All has moved the view to the last cell.
      requestAnimationFrame(() => {
        notebook.activeCellIndex = index;
        notebook.deselectAll();
        void notebook.scrollToItem(index, 'start');
      });
    });
  }
};

module.exports = [plugin];
