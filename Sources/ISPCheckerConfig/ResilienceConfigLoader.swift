import ISPChecker
