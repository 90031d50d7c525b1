"""The params of the job kinds whose code is heavy (numpy, Pillow, trimesh, PyAV,
python-pptx), in modules that import none of it: the API validates requests with them
and never loads what a kind runs with. Each kind's package re-exports its params; noop
and writing, light already, keep theirs in their own modules."""
