"""Running a class: roster, export, hand-back, the formgrader, JupyterHub."""
