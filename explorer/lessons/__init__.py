"""The Learn page's lessons, one module each; every module has `TITLE` and `render()`."""
