-- Every station, with what the hydro feed keeps when it updates them (the CSV reader checks
-- rows in a worker thread and must not query while the load uses the connection).
SELECT stcd, sttp, dataset_id
FROM station;
