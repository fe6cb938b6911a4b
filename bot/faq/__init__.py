"""The FAQ as content: the models of its YAML files, the loader that reports every problem with
its file and line, and how easy its texts are to read."""
