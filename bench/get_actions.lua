-- wrk script: GET /api/v1/actions with the bearer token in BENCH_TOKEN.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
