module oci-scan.test/oracle/tarlist

go 1.19
