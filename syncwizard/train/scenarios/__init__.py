"""The scenarios, one module each; `registry` lists them in the order the list shows."""
