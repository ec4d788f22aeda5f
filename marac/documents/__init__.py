"""Generated documents (research lists now, minutes later): render to PDF, store, read back.

Domain code: never imports starlette or arq. render.py turns a template and plain data
into PDF bytes, pool.py runs that in worker processes, store.py keeps the files.
"""
