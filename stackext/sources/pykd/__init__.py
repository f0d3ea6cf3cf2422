"""The live debugger through pykd: `adapter` is the only module that names pykd's API; `live`,
`memory`, `threads`, `anatomy` and `dump` use the adapter object they are given."""
