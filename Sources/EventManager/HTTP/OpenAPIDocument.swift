/// The OpenAPI 3.1 description of every route, served at `GET /openapi.json`.
///
/// Kept beside the routes it describes; a test fails when the router and this document disagree.
/// The time-zone enum is filled in once at start from the zone database the server validates with.
enum OpenAPIDocument {
    static let template = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "event-manager",
            "version": "1.0.0",
            "description": "Publish events, let anyone subscribe by email, and send reminders before they start. Times are RFC 3339 in UTC on output. Every error is {\"error\": {\"code\", \"message\", \"details\"?}}."
          },
          "servers": [
            {
              "url": "/"
            }
          ],
          "paths": {
            "/health": {
              "get": {
                "operationId": "health",
                "summary": "Process is alive",
                "responses": {
                  "200": {
                    "description": "Alive",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Status"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/ready": {
              "get": {
                "operationId": "ready",
                "summary": "Database answers (and, on worker nodes, the SMTP server)",
                "responses": {
                  "200": {
                    "description": "Ready",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Status"
                        }
                      }
                    }
                  },
                  "503": {
                    "$ref": "#/components/responses/Unavailable"
                  }
                }
              }
            },
            "/metrics": {
              "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics: requests by route and status with latency, deliveries by outcome, reminder lateness, queue depth by state, pool usage",
                "responses": {
                  "200": {
                    "description": "Prometheus text exposition format",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "text/plain": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/openapi.json": {
              "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {
                  "200": {
                    "description": "The OpenAPI document",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object"
                        }
                      }
                    }
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              }
            },
            "/events": {
              "get": {
                "operationId": "listEvents",
                "summary": "List events (the seed's GET /events and GET /events?id=N)",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/filter_id"
                  },
                  {
                    "$ref": "#/components/parameters/title"
                  },
                  {
                    "$ref": "#/components/parameters/location"
                  },
                  {
                    "$ref": "#/components/parameters/q"
                  },
                  {
                    "$ref": "#/components/parameters/start_date"
                  },
                  {
                    "$ref": "#/components/parameters/end_date"
                  },
                  {
                    "$ref": "#/components/parameters/popularity"
                  },
                  {
                    "$ref": "#/components/parameters/min_popularity"
                  },
                  {
                    "$ref": "#/components/parameters/max_popularity"
                  },
                  {
                    "$ref": "#/components/parameters/limit"
                  },
                  {
                    "$ref": "#/components/parameters/cursor"
                  },
                  {
                    "$ref": "#/components/parameters/sort"
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of events; the next page is in the Link header",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      },
                      "Link": {
                        "$ref": "#/components/headers/Link"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "array",
                          "items": {
                            "$ref": "#/components/schemas/Event"
                          }
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              },
              "post": {
                "operationId": "createEvent",
                "summary": "Create an event",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/EventInput"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      },
                      "Location": {
                        "$ref": "#/components/headers/Location"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Event"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "422": {
                    "$ref": "#/components/responses/Unprocessable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              },
              "put": {
                "operationId": "replaceEventSeedForm",
                "summary": "Seed form of PUT /events/{id}: the id as ?id=N or in the body",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/seed_id"
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/EventInputWithId"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Replaced",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Event"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "422": {
                    "$ref": "#/components/responses/Unprocessable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "description": "Subscribers are told when the date, time or location changes or the event is deleted (reminders.notify_changes); reminders move with the event.",
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              },
              "delete": {
                "operationId": "deleteEventSeedForm",
                "summary": "Seed form of DELETE /events/{id}",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/seed_id_required"
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Deleted",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "description": "Subscribers are told when the date, time or location changes or the event is deleted (reminders.notify_changes); reminders move with the event.",
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              }
            },
            "/events/{id}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/event_id"
                }
              ],
              "get": {
                "operationId": "getEvent",
                "summary": "One event",
                "responses": {
                  "200": {
                    "description": "The event",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Event"
                        }
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              },
              "put": {
                "operationId": "replaceEvent",
                "summary": "Replace an event (absent optional fields take their defaults)",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/EventInputWithId"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Replaced",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Event"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "422": {
                    "$ref": "#/components/responses/Unprocessable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "description": "Subscribers are told when the date, time or location changes or the event is deleted (reminders.notify_changes); reminders move with the event.",
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              },
              "patch": {
                "operationId": "patchEvent",
                "summary": "Change some fields (JSON Merge Patch, RFC 7396)",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/merge-patch+json": {
                      "schema": {
                        "$ref": "#/components/schemas/EventPatch"
                      }
                    },
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/EventPatch"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Changed",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Event"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "422": {
                    "$ref": "#/components/responses/Unprocessable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "description": "Subscribers are told when the date, time or location changes or the event is deleted (reminders.notify_changes); reminders move with the event.",
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              },
              "delete": {
                "operationId": "deleteEvent",
                "summary": "Delete an event",
                "responses": {
                  "204": {
                    "description": "Deleted",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "description": "Subscribers are told when the date, time or location changes or the event is deleted (reminders.notify_changes); reminders move with the event.",
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              }
            },
            "/sort_by/{field}": {
              "get": {
                "operationId": "sortEvents",
                "summary": "All events sorted descending (the seed's route); creation_time is newest first",
                "parameters": [
                  {
                    "name": "field",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "enum": [
                        "creation_time",
                        "date",
                        "popularity"
                      ]
                    }
                  },
                  {
                    "$ref": "#/components/parameters/filter_id"
                  },
                  {
                    "$ref": "#/components/parameters/title"
                  },
                  {
                    "$ref": "#/components/parameters/location"
                  },
                  {
                    "$ref": "#/components/parameters/q"
                  },
                  {
                    "$ref": "#/components/parameters/start_date"
                  },
                  {
                    "$ref": "#/components/parameters/end_date"
                  },
                  {
                    "$ref": "#/components/parameters/popularity"
                  },
                  {
                    "$ref": "#/components/parameters/min_popularity"
                  },
                  {
                    "$ref": "#/components/parameters/max_popularity"
                  },
                  {
                    "$ref": "#/components/parameters/limit"
                  },
                  {
                    "$ref": "#/components/parameters/cursor"
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of events",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      },
                      "Link": {
                        "$ref": "#/components/headers/Link"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "array",
                          "items": {
                            "$ref": "#/components/schemas/Event"
                          }
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              }
            },
            "/bulk_events": {
              "post": {
                "operationId": "createEvents",
                "summary": "Create many events atomically: all or none",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 1000,
                        "items": {
                          "$ref": "#/components/schemas/EventInput"
                        }
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created, in request order",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "array",
                          "items": {
                            "$ref": "#/components/schemas/Event"
                          }
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "422": {
                    "$ref": "#/components/responses/Unprocessable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              },
              "delete": {
                "operationId": "deleteEvents",
                "summary": "Delete many events in one transaction",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 1000,
                        "items": {
                          "type": "integer",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        }
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "What was deleted and what did not exist",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/BulkDeleteResult"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "422": {
                    "$ref": "#/components/responses/Unprocessable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "description": "Subscribers are told when the date, time or location changes or the event is deleted (reminders.notify_changes); reminders move with the event.",
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              }
            },
            "/events/{id}/subscriptions": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/event_id"
                }
              ],
              "post": {
                "operationId": "subscribe",
                "summary": "Subscribe an email address to an event",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/SubscriptionInput"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Already subscribed: the existing subscription, no second reminder",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      },
                      "Location": {
                        "$ref": "#/components/headers/Location"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Subscription"
                        }
                      }
                    }
                  },
                  "201": {
                    "description": "Subscribed; the reminder is scheduled",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      },
                      "Location": {
                        "$ref": "#/components/headers/Location"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Subscription"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "422": {
                    "$ref": "#/components/responses/Unprocessable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              },
              "get": {
                "operationId": "listSubscriptions",
                "summary": "The event's subscriptions (personal data)",
                "responses": {
                  "200": {
                    "description": "Subscriptions in creation order",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "array",
                          "items": {
                            "$ref": "#/components/schemas/Subscription"
                          }
                        }
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              }
            },
            "/subscribe": {
              "post": {
                "operationId": "subscribeSeedForm",
                "summary": "Seed form of POST /events/{id}/subscriptions",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/SeedSubscriptionInput"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Already subscribed: the existing subscription, no second reminder",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      },
                      "Location": {
                        "$ref": "#/components/headers/Location"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Subscription"
                        }
                      }
                    }
                  },
                  "201": {
                    "description": "Subscribed; the reminder is scheduled",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      },
                      "Location": {
                        "$ref": "#/components/headers/Location"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Subscription"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "422": {
                    "$ref": "#/components/responses/Unprocessable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              }
            },
            "/subscriptions/{token}": {
              "delete": {
                "operationId": "unsubscribe",
                "summary": "Unsubscribe with the token from an email link",
                "parameters": [
                  {
                    "name": "token",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "pattern": "^[A-Za-z0-9_-]{1,100}$"
                    }
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Unsubscribed; pending mail is cancelled",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              }
            },
            "/unsubscribe": {
              "get": {
                "operationId": "unsubscribePage",
                "summary": "A page with an unsubscribe button; never unsubscribes by itself",
                "parameters": [
                  {
                    "name": "token",
                    "in": "query",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "pattern": "^[A-Za-z0-9_-]{1,100}$"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The page",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "text/html": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              },
              "post": {
                "operationId": "unsubscribeOneClick",
                "summary": "RFC 8058 one-click unsubscribe",
                "parameters": [
                  {
                    "name": "token",
                    "in": "query",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "pattern": "^[A-Za-z0-9_-]{1,100}$"
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/x-www-form-urlencoded": {
                      "schema": {
                        "type": "object",
                        "required": [
                          "List-Unsubscribe"
                        ],
                        "additionalProperties": false,
                        "properties": {
                          "List-Unsubscribe": {
                            "type": "string",
                            "const": "One-Click"
                          }
                        }
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Unsubscribed",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "text/html": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "422": {
                    "$ref": "#/components/responses/Unprocessable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              }
            },
            "/accounts": {
              "post": {
                "operationId": "createAccount",
                "summary": "Create an account (admins)",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/AccountInput"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      },
                      "Location": {
                        "$ref": "#/components/headers/Location"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Account"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "409": {
                    "description": "The name is taken",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "422": {
                    "$ref": "#/components/responses/Unprocessable"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              },
              "get": {
                "operationId": "listAccounts",
                "summary": "All accounts (admins)",
                "responses": {
                  "200": {
                    "description": "Accounts",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "array",
                          "items": {
                            "$ref": "#/components/schemas/Account"
                          }
                        }
                      }
                    }
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              }
            },
            "/accounts/{id}/keys": {
              "post": {
                "operationId": "createKey",
                "summary": "A new API key for an account (admins); the key is shown once",
                "parameters": [
                  {
                    "name": "id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 9223372036854775807
                    }
                  }
                ],
                "responses": {
                  "201": {
                    "description": "Created",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/APIKey"
                        }
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              }
            },
            "/keys/{id}": {
              "delete": {
                "operationId": "revokeKey",
                "summary": "Revoke an API key (admins)",
                "parameters": [
                  {
                    "name": "id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 9223372036854775807
                    }
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Revoked",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                },
                "security": [
                  {
                    "bearerAuth": []
                  }
                ]
              }
            },
            "/confirm": {
              "get": {
                "operationId": "confirmPage",
                "summary": "Double opt-in: a page with a Confirm button; never confirms by itself",
                "parameters": [
                  {
                    "name": "token",
                    "in": "query",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "pattern": "^[A-Za-z0-9_-]{1,100}$"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The page",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "text/html": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              },
              "post": {
                "operationId": "confirm",
                "summary": "Double opt-in: confirm the subscription; its reminder is scheduled",
                "parameters": [
                  {
                    "name": "token",
                    "in": "query",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "pattern": "^[A-Za-z0-9_-]{1,100}$"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "Confirmed (or already confirmed)",
                    "headers": {
                      "X-Request-ID": {
                        "$ref": "#/components/headers/X-Request-ID"
                      }
                    },
                    "content": {
                      "text/html": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  }
                }
              }
            }
          },
          "components": {
            "schemas": {
              "Status": {
                "type": "object",
                "required": [
                  "status"
                ],
                "properties": {
                  "status": {
                    "type": "string"
                  },
                  "database": {
                    "type": "string"
                  },
                  "smtp": {
                    "type": "string"
                  }
                }
              },
              "Event": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "title",
                  "location",
                  "date",
                  "timezone",
                  "popularity",
                  "created_at",
                  "updated_at"
                ],
                "properties": {
                  "id": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "title": {
                    "type": "string"
                  },
                  "location": {
                    "type": "string"
                  },
                  "date": {
                    "type": "string",
                    "format": "date-time",
                    "description": "Start, RFC 3339 in UTC"
                  },
                  "timezone": {
                    "$ref": "#/components/schemas/TimeZone"
                  },
                  "popularity": {
                    "type": "integer",
                    "minimum": 0
                  },
                  "created_at": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "updated_at": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              },
              "Text": {
                "type": "string",
                "minLength": 1,
                "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
                "description": "1-200 characters (Unicode code points) as sent, not only white space, no control characters; stored trimmed",
                "maxLength": 200
              },
              "DateInput": {
                "type": "string",
                "description": "YYYY-MM-DD (midnight in the event's time zone) or an RFC 3339 date-time with offset",
                "anyOf": [
                  {
                    "format": "date",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
                  },
                  {
                    "format": "date-time"
                  }
                ]
              },
              "TimeZone": {
                "type": "string",
                "description": "IANA time zone name; the enum is filled from the server's zone database"
              },
              "Popularity": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991
              },
              "EventInput": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "title",
                  "location",
                  "date"
                ],
                "properties": {
                  "title": {
                    "$ref": "#/components/schemas/Text"
                  },
                  "location": {
                    "$ref": "#/components/schemas/Text"
                  },
                  "date": {
                    "$ref": "#/components/schemas/DateInput"
                  },
                  "timezone": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/TimeZone"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "default": "UTC"
                  },
                  "popularity": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/Popularity"
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "default": 0
                  }
                }
              },
              "EventInputWithId": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "title",
                  "location",
                  "date"
                ],
                "description": "An event; read-only fields (id, created_at, updated_at) may be sent back unchanged and are otherwise refused.",
                "properties": {
                  "id": {
                    "type": "integer",
                    "minimum": 1,
                    "readOnly": true
                  },
                  "created_at": {
                    "type": "string",
                    "format": "date-time",
                    "readOnly": true
                  },
                  "updated_at": {
                    "type": "string",
                    "format": "date-time",
                    "readOnly": true
                  },
                  "title": {
                    "$ref": "#/components/schemas/Text"
                  },
                  "location": {
                    "$ref": "#/components/schemas/Text"
                  },
                  "date": {
                    "$ref": "#/components/schemas/DateInput"
                  },
                  "timezone": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/TimeZone"
                      },
                      {
                        "type": "null"
                      }
                    ]
                  },
                  "popularity": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/Popularity"
                      },
                      {
                        "type": "null"
                      }
                    ]
                  }
                }
              },
              "EventPatch": {
                "type": "object",
                "additionalProperties": false,
                "description": "JSON Merge Patch: members present replace, null resets timezone and popularity to their defaults",
                "properties": {
                  "title": {
                    "$ref": "#/components/schemas/Text"
                  },
                  "location": {
                    "$ref": "#/components/schemas/Text"
                  },
                  "date": {
                    "$ref": "#/components/schemas/DateInput"
                  },
                  "timezone": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/TimeZone"
                      },
                      {
                        "type": "null"
                      }
                    ]
                  },
                  "popularity": {
                    "anyOf": [
                      {
                        "$ref": "#/components/schemas/Popularity"
                      },
                      {
                        "type": "null"
                      }
                    ]
                  }
                }
              },
              "BulkDeleteResult": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "deleted_ids",
                  "not_found"
                ],
                "properties": {
                  "deleted_ids": {
                    "type": "array",
                    "items": {
                      "type": "integer"
                    }
                  },
                  "not_found": {
                    "type": "array",
                    "items": {
                      "type": "integer"
                    }
                  }
                }
              },
              "Error": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "error"
                ],
                "properties": {
                  "error": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": [
                      "code",
                      "message"
                    ],
                    "properties": {
                      "code": {
                        "type": "string"
                      },
                      "message": {
                        "type": "string"
                      },
                      "details": {
                        "description": "Field errors [{field, code, message}], bulk item errors [{index, errors}] or {valid_values}",
                        "anyOf": [
                          {
                            "type": "array",
                            "items": {
                              "type": "object"
                            }
                          },
                          {
                            "type": "object"
                          }
                        ]
                      }
                    }
                  }
                }
              },
              "Email": {
                "type": "string",
                "format": "email",
                "maxLength": 254,
                "description": "One '@', a domain with a dot, no spaces or control characters; RFC 5321 lengths"
              },
              "SubscriptionInput": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "email"
                ],
                "properties": {
                  "email": {
                    "$ref": "#/components/schemas/Email"
                  },
                  "remind_before_minutes": {
                    "anyOf": [
                      {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 40320
                      },
                      {
                        "type": "null"
                      }
                    ],
                    "description": "Default reminders.default_minutes (30)"
                  }
                }
              },
              "SeedSubscriptionInput": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "event_id",
                  "email"
                ],
                "properties": {
                  "event_id": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "email": {
                    "$ref": "#/components/schemas/Email"
                  },
                  "remind_before_minutes": {
                    "anyOf": [
                      {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 40320
                      },
                      {
                        "type": "null"
                      }
                    ]
                  }
                }
              },
              "Subscription": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "event_id",
                  "email",
                  "remind_before_minutes",
                  "remind_at",
                  "status",
                  "reminder_state",
                  "created_at"
                ],
                "properties": {
                  "id": {
                    "type": "integer"
                  },
                  "event_id": {
                    "type": "integer"
                  },
                  "email": {
                    "type": "string"
                  },
                  "remind_before_minutes": {
                    "type": "integer"
                  },
                  "remind_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When the reminder is due; when it has passed the reminder goes out at once"
                  },
                  "status": {
                    "type": "string",
                    "enum": [
                      "active",
                      "unsubscribed",
                      "pending"
                    ]
                  },
                  "reminder_state": {
                    "anyOf": [
                      {
                        "type": "string",
                        "enum": [
                          "scheduled",
                          "sending",
                          "sent",
                          "failed",
                          "cancelled",
                          "skipped"
                        ]
                      },
                      {
                        "type": "null"
                      }
                    ]
                  },
                  "created_at": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              },
              "Account": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "name",
                  "role",
                  "created_at"
                ],
                "properties": {
                  "id": {
                    "type": "integer"
                  },
                  "name": {
                    "type": "string"
                  },
                  "role": {
                    "type": "string",
                    "enum": [
                      "admin",
                      "organizer"
                    ]
                  },
                  "created_at": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              },
              "AccountInput": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "name",
                  "role"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 100,
                    "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
                  },
                  "role": {
                    "type": "string",
                    "enum": [
                      "admin",
                      "organizer"
                    ]
                  }
                }
              },
              "APIKey": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "account_id",
                  "key",
                  "prefix",
                  "created_at"
                ],
                "properties": {
                  "id": {
                    "type": "integer"
                  },
                  "account_id": {
                    "type": "integer"
                  },
                  "key": {
                    "type": "string",
                    "description": "The whole key: shown only in this response"
                  },
                  "prefix": {
                    "type": "string"
                  },
                  "created_at": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              }
            },
            "parameters": {
              "event_id": {
                "name": "id",
                "in": "path",
                "required": true,
                "schema": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 9223372036854775807
                }
              },
              "filter_id": {
                "name": "id",
                "in": "query",
                "schema": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 9223372036854775807
                },
                "description": "Only the event with this id (the seed's ?id=N)"
              },
              "seed_id": {
                "name": "id",
                "in": "query",
                "required": true,
                "schema": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 9223372036854775807
                },
                "description": "The event to replace. The seed's clients may instead send the id in the body (then this parameter may be left out)."
              },
              "seed_id_required": {
                "name": "id",
                "in": "query",
                "required": true,
                "schema": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 9223372036854775807
                }
              },
              "title": {
                "name": "title",
                "in": "query",
                "schema": {
                  "type": "string"
                },
                "description": "Exact title"
              },
              "location": {
                "name": "location",
                "in": "query",
                "schema": {
                  "type": "string"
                },
                "description": "Exact location"
              },
              "q": {
                "name": "q",
                "in": "query",
                "schema": {
                  "type": "string",
                  "minLength": 1,
                  "maxLength": 200
                },
                "description": "Case-insensitive substring of title or location"
              },
              "start_date": {
                "name": "start_date",
                "in": "query",
                "schema": {
                  "$ref": "#/components/schemas/DateInput"
                },
                "description": "Events starting at or after (a day means 00:00 UTC)"
              },
              "end_date": {
                "name": "end_date",
                "in": "query",
                "schema": {
                  "$ref": "#/components/schemas/DateInput"
                },
                "description": "Events starting at or before (a day means its end, UTC)"
              },
              "popularity": {
                "name": "popularity",
                "in": "query",
                "schema": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 9223372036854775807
                }
              },
              "min_popularity": {
                "name": "min_popularity",
                "in": "query",
                "schema": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 9223372036854775807
                }
              },
              "max_popularity": {
                "name": "max_popularity",
                "in": "query",
                "schema": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 9223372036854775807
                }
              },
              "limit": {
                "name": "limit",
                "in": "query",
                "schema": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1000,
                  "default": 100
                }
              },
              "cursor": {
                "name": "cursor",
                "in": "query",
                "schema": {
                  "type": "string",
                  "pattern": "^-?[0-9]{1,18}\\.[0-9]{1,18}$"
                },
                "description": "Opaque; copy it from the Link header of the previous page"
              },
              "sort": {
                "name": "sort",
                "in": "query",
                "schema": {
                  "type": "string",
                  "enum": [
                    "creation_time",
                    "-creation_time",
                    "date",
                    "-date",
                    "popularity",
                    "-popularity"
                  ],
                  "default": "creation_time"
                }
              }
            },
            "headers": {
              "X-Request-ID": {
                "description": "The request's id: the client's X-Request-ID when printable and at most 128 bytes, else generated",
                "schema": {
                  "type": "string"
                }
              },
              "Location": {
                "description": "URL of the created event",
                "schema": {
                  "type": "string"
                }
              },
              "Link": {
                "description": "RFC 8288 link to the next page: <URL>; rel=\"next\"",
                "schema": {
                  "type": "string"
                }
              },
              "Retry-After": {
                "description": "Seconds to wait before trying again",
                "schema": {
                  "type": "string"
                }
              },
              "RateLimit-Policy": {
                "description": "The limits of this class (draft-ietf-httpapi-ratelimit-headers), e.g. \"write-60\";q=300;w=60",
                "schema": {
                  "type": "string"
                }
              },
              "RateLimit": {
                "description": "The limit closest to running out: remaining requests r and seconds t until it is whole, e.g. \"write-60\";r=299;t=1",
                "schema": {
                  "type": "string"
                }
              },
              "WWW-Authenticate": {
                "description": "Bearer realm=\"event-manager\"",
                "schema": {
                  "type": "string"
                }
              }
            },
            "responses": {
              "BadRequest": {
                "description": "Malformed JSON or query parameter",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "NotFound": {
                "description": "No such event or route",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "MethodNotAllowed": {
                "description": "Method not supported on this path",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  },
                  "Allow": {
                    "description": "Methods the path supports",
                    "schema": {
                      "type": "string"
                    }
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "TooLarge": {
                "description": "Body over the limit",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "UnsupportedMediaType": {
                "description": "Body is not JSON",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "Unprocessable": {
                "description": "Validation failed; details lists every field",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "Unavailable": {
                "description": "A dependency is down",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "Conflict": {
                "description": "The event has already started (code event_started)",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "TooManyRequests": {
                "description": "A rate limit is spent (rate_limit.*)",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  },
                  "Retry-After": {
                    "$ref": "#/components/headers/Retry-After"
                  },
                  "RateLimit-Policy": {
                    "$ref": "#/components/headers/RateLimit-Policy"
                  },
                  "RateLimit": {
                    "$ref": "#/components/headers/RateLimit"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "Unauthorized": {
                "description": "A missing, unknown or revoked API key",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  },
                  "WWW-Authenticate": {
                    "$ref": "#/components/headers/WWW-Authenticate"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "Forbidden": {
                "description": "The key's account may not do this (not the event's owner, or not an admin)",
                "headers": {
                  "X-Request-ID": {
                    "$ref": "#/components/headers/X-Request-ID"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              }
            },
            "securitySchemes": {
              "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key, em_..., from `event-manager accounts create` or POST /accounts/{id}/keys"
              }
            }
          }
        }
        """#
}
