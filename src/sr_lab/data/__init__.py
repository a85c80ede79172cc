"""Image data: file I/O and colour (``image``, ``colour``), degradation, patch datasets,
sources and the datamodule. Import from the submodules, so that file I/O does not pull in
Lightning."""
