{
  "targets": [
    {
      "target_name": "malloc_trim",
      "sources": ["src/native/malloc-trim.c"]
    }
  ]
}
