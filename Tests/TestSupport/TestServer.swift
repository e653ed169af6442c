import MongoKit
