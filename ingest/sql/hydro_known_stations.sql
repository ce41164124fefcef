-- Which of the given station codes exist, with what the hydro feed keeps when it updates them.
SELECT stcd, sttp, dataset_id
FROM station
WHERE stcd = ANY(%(codes)s);
