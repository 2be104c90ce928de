{
  "targets": [
    {
      "target_name": "malloc_trim",
      "sources": ["src/native/malloc-trim.c"]
    },
    {
      "target_name": "sendfile",
      "conditions": [
        ["OS=='linux'", { "sources": ["src/native/sendfile.c"] }, { "type": "none" }]
      ]
    }
  ]
}
