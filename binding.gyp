{
  "targets": [
    {
      "target_name": "baton_spawn",
      "sources": ["native/spawn.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
