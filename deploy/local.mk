# deploy: rules added with the plugin (see docs/plugin-guide.md)
