"""Every job kind's params, in modules that import nothing heavy (no numpy, Pillow,
trimesh, PyAV or python-pptx): the API validates requests with them and never loads
the libraries a kind runs with. A kind's package re-exports its params from here."""
